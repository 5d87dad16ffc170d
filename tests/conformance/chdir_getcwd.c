/* chdir/fchdir/getcwd: relative paths after a change of directory, ".."
 * at the root, errors, a small buffer (ERANGE), and getcwd of a removed
 * directory. */
#include "common.h"

static void cwd_is(const char *label, const char *want)
{
	char buf[512];
	if (!getcwd(buf, sizeof(buf)))
		printf("%s: getcwd %s\n", label, en(errno));
	else
		printf("%s: %s\n", label, strcmp(buf, want) == 0 ? "matches" : "differs");
}

int main(void)
{
	make_tmpdir("chdir_getcwd");
	char *real = realpath(conf_tmpdir, NULL);
	MUST(real ? 0 : -1);
	MUST(mkdir(conf_path("a"), 0755));
	MUST(mkdir(conf_path("a/b"), 0755));
	write_file(conf_path("a/file"), "in a");

	SHOW("chdir to the scratch dir", chdir(conf_tmpdir));
	cwd_is("getcwd", real);
	SHOW("chdir relative a/b", chdir("a/b"));
	char want[600];
	snprintf(want, sizeof(want), "%s/a/b", real);
	cwd_is("getcwd after relative chdir", want);
	SHOW("open ../file relative", open("../file", O_RDONLY) >= 0 ? 0 : -1);
	SHOW("chdir ..", chdir(".."));
	snprintf(want, sizeof(want), "%s/a", real);
	cwd_is("getcwd after ..", want);

	/* Symlinked directories: getcwd shows the real path. */
	MUST(symlink("a/b", conf_path("lnk")));
	chdir(conf_path("lnk"));
	snprintf(want, sizeof(want), "%s/a/b", real);
	cwd_is("getcwd through a symlink", want);

	/* fchdir. */
	int dfd = open(conf_tmpdir, O_RDONLY | O_DIRECTORY);
	SHOW("fchdir", fchdir(dfd));
	cwd_is("getcwd after fchdir", real);
	int ffd = open(conf_path("a/file"), O_RDONLY);
	SHOW("fchdir to a file", fchdir(ffd));
	SHOW("fchdir bad fd", fchdir(9999));
	int pfd = open(conf_path("a"), O_PATH);
	SHOW("fchdir O_PATH dir", fchdir(pfd));

	snprintf(want, sizeof(want), "%s/a", real);
	cwd_is("getcwd after fchdir O_PATH", want);

	/* Errors. */
	SHOW("chdir to a file", chdir(conf_path("a/file")));
	SHOW("chdir missing", chdir(conf_path("missing")));
	SHOW("chdir empty", chdir(""));
	cwd_is("cwd unchanged after errors", want);

	/* .. at / stays at /. */
	SHOW("chdir /", chdir("/"));
	SHOW("chdir ../../..", chdir("../../.."));
	cwd_is("still /", "/");

	/* getcwd buffer sizes. */
	chdir(real);
	char small[4];
	errno = 0;
	printf("getcwd into 4 bytes: %s\n", getcwd(small, sizeof(small)) ? "ok" : en(errno));
	errno = 0;
	printf("getcwd size 0 with a buffer: %s\n", getcwd(small, 0) ? "ok" : en(errno));
	long n = syscall(SYS_getcwd, want, sizeof(want));
	printf("raw getcwd returns strlen+1: %s\n", n == (long)strlen(real) + 1 ? "yes" : "no");
	SHOW("raw getcwd bad buffer", syscall(SYS_getcwd, (void *)8, 100));

	/* A removed working directory. */
	MUST(mkdir(conf_path("gone"), 0755));
	chdir(conf_path("gone"));
	MUST(rmdir(conf_path("gone")));
	char buf[512];
	errno = 0;
	printf("getcwd of removed dir: %s\n", getcwd(buf, sizeof(buf)) ? "ok" : en(errno));
	SHOW("create in removed dir", open("x", O_CREAT | O_WRONLY, 0644));
	SHOW("chdir .. from removed dir", chdir(".."));
	cwd_is("back in the scratch dir", real);

	/* The cwd is per process: a child's chdir does not move the parent. */
	pid_t pid = fork();
	if (pid == 0) {
		chdir("/");
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	cwd_is("after child chdir", real);
	chdir("/");
	remove_tmpdir();
	return 0;
}

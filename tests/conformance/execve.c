/* execve: /bin/true and /bin/false, a #! script with arguments, argv and
 * envp passed through, auxv of the new image, and the errors for missing,
 * non-executable, directory and malformed files. */
#include "common.h"
#include <sys/auxv.h>

extern char **environ;

/* Runs path with argv/envp in a child; prints the status or exec errno. */
static void try_exec(const char *label, const char *path, char *const argv[],
		     char *const envp[])
{
	int fds[2];
	MUST(pipe2(fds, O_CLOEXEC));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execve(path, argv, envp);
		int e = errno;
		write(fds[1], &e, sizeof(e));
		_exit(127);
	}
	close(fds[1]);
	int e = 0;
	ssize_t n = read(fds[0], &e, sizeof(e));
	close(fds[0]);
	int st;
	waitpid(pid, &st, 0);
	if (n == sizeof(e))
		printf("%s: execve failed %s\n", label, en(e));
	else
		printf("%s: %s\n", label, wstatus_str(st));
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		printf("child argc %d:", argc);
		for (int i = 2; i < argc; i++)
			printf(" [%s]", argv[i]);
		printf("\nchild env:");
		for (char **e = environ; *e; e++)
			printf(" [%s]", *e);
		printf("\n");
		YESNO("child AT_PAGESZ is 4096", getauxval(AT_PAGESZ) == 4096);
		YESNO("child AT_EXECFN equals argv[0]",
		      strcmp((char *)getauxval(AT_EXECFN), argv[0]) == 0);
		YESNO("child AT_ENTRY set", getauxval(AT_ENTRY) != 0);
		YESNO("child AT_PHDR set", getauxval(AT_PHDR) != 0);
		YESNO("child AT_RANDOM set", getauxval(AT_RANDOM) != 0);
		printf("child AT_SECURE %lu\n", getauxval(AT_SECURE));
		return 9;
	}
	char *none[] = { NULL };
	char *t[] = { "true", NULL };
	try_exec("/bin/true", "/bin/true", t, none);
	char *f[] = { "false", NULL };
	try_exec("/bin/false", "/bin/false", f, none);

	char *self[] = { argv[0], "child", "one", "", "three with spaces", NULL };
	char *env[] = { "A=1", "EMPTY=", "B=two words", NULL };
	try_exec("self with args and env", argv[0], self, env);

	make_tmpdir("execve");
	const char *script = conf_path("script");
	write_file(script, "#!/bin/sh -e\n"
			   "echo \"script args: ${0##*/} $# $1 $2\"\n"
			   "exit 5\n");
	chmod(script, 0755);
	char *sa[] = { "ignored-argv0", "x", "y z", NULL };
	try_exec("#! script", script, sa, none);

	const char *noint = conf_path("nointerp");
	write_file(noint, "#!/nonexistent/interpreter\n");
	chmod(noint, 0755);
	try_exec("#! with missing interpreter", noint, sa, none);

	const char *noexec = conf_path("noexec");
	write_file(noexec, "#!/bin/sh\nexit 0\n");
	chmod(noexec, 0644);
	try_exec("file without x bits", noexec, sa, none);

	const char *garbage = conf_path("garbage");
	write_file(garbage, "\x01\x02\x03 this is not a program\n");
	chmod(garbage, 0755);
	try_exec("executable garbage", garbage, sa, none);

	const char *empty = conf_path("empty");
	write_file(empty, "");
	chmod(empty, 0755);
	try_exec("empty executable file", empty, sa, none);

	try_exec("missing file", conf_path("missing"), sa, none);
	try_exec("directory", conf_tmpdir, sa, none);
	try_exec("path through a file", conf_path("empty/x"), sa, none);

	/* A failed execve leaves the caller intact. */
	errno = 0;
	int r = execve(conf_path("missing"), sa, none);
	printf("failed execve in this process: %d %s, still running\n", r,
	       en(errno));
	remove_tmpdir();
	return 0;
}

/* access/faccessat and umask: existence and execute checks (which hold for
 * root and other users alike), umask applied to files, directories, FIFOs,
 * and chmod/fchmod/fchmodat. */
#include "common.h"

static void mode_of(const char *label, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		printf("%s: %s\n", label, en(errno));
	else
		printf("%s: %04o\n", label, st.st_mode & 07777);
}

int main(void)
{
	make_tmpdir("access_umask");
	mode_t old = umask(022);
	(void)old;
	printf("umask(027) returns %04o\n", umask(027));
	printf("umask(022) returns %04o\n", umask(022));

	close(open(conf_path("f644"), O_CREAT | O_WRONLY, 0666));
	mode_of("file 0666 under 022", conf_path("f644"));
	mkdir(conf_path("d755"), 0777);
	mode_of("dir 0777 under 022", conf_path("d755"));
	umask(077);
	close(open(conf_path("f600"), O_CREAT | O_WRONLY, 0666));
	mode_of("file 0666 under 077", conf_path("f600"));
	mkdir(conf_path("d700"), 0777);
	mode_of("dir 0777 under 077", conf_path("d700"));
	mkfifo(conf_path("fifo"), 0666);
	mode_of("fifo 0666 under 077", conf_path("fifo"));
	umask(0);
	close(open(conf_path("f666"), O_CREAT | O_WRONLY, 0666));
	mode_of("file 0666 under 0", conf_path("f666"));
	mkdir(conf_path("sticky"), 01777);
	mode_of("dir 01777 under 0", conf_path("sticky"));
	printf("umask(07777) returns %04o\n", umask(07777));
	printf("umask keeps only 0777 bits: %04o\n", umask(022));

	/* The umask is inherited by a child. */
	umask(0011);
	pid_t pid = fork();
	if (pid == 0) {
		printf("child umask: %04o\n", umask(0));
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	umask(022);

	/* chmod variants. */
	const char *f = conf_path("f644");
	SHOW("chmod 0751", chmod(f, 0751));
	mode_of("after chmod", f);
	int fd = open(f, O_RDONLY);
	SHOW("fchmod 0604", fchmod(fd, 0604));
	mode_of("after fchmod", f);
	int dfd = open(conf_tmpdir, O_RDONLY | O_DIRECTORY);
	SHOW("fchmodat 0640", fchmodat(dfd, "f644", 0640, 0));
	mode_of("after fchmodat", f);
	SHOW("chmod keeps setuid/sticky bits", chmod(f, 06755));
	mode_of("after chmod 06755", f);
	SHOW("chmod missing", chmod(conf_path("missing"), 0644));
	MUST(symlink("f644", conf_path("link")));
	SHOW("fchmodat AT_SYMLINK_NOFOLLOW", fchmodat(dfd, "link", 0600, AT_SYMLINK_NOFOLLOW));

	/* access: F_OK and X_OK behave the same for every user. */
	chmod(f, 0644);
	SHOW("F_OK existing", access(f, F_OK));
	SHOW("F_OK missing", access(conf_path("missing"), F_OK));
	SHOW("X_OK without any x bit", access(f, X_OK));
	chmod(f, 0744);
	SHOW("X_OK with owner x bit", access(f, X_OK));
	SHOW("X_OK on a directory", access(conf_tmpdir, X_OK));
	SHOW("bad mode", access(f, 0x100));
	SHOW("through a file", access(conf_path("f644/x"), F_OK));
	SHOW("faccessat relative", faccessat(dfd, "f644", R_OK, 0));
	SHOW("faccessat AT_EACCESS", faccessat(dfd, "f644", R_OK, AT_EACCESS));
	SHOW("faccessat bad flags", faccessat(dfd, "f644", R_OK, 0x4));
	MUST(symlink("missing", conf_path("dangling")));
	SHOW("dangling symlink", faccessat(dfd, "dangling", F_OK, 0));
	SHOW("dangling symlink NOFOLLOW",
	     faccessat(dfd, "dangling", F_OK, AT_SYMLINK_NOFOLLOW));
	SHOW("faccessat2 AT_EMPTY_PATH",
	     syscall(SYS_faccessat2, fd, "", F_OK, AT_EMPTY_PATH));
	SHOW("access /bin/sh X_OK", access("/bin/sh", X_OK));
	remove_tmpdir();
	return 0;
}

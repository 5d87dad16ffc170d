/* O_CLOEXEC and FD_CLOEXEC across execve: which descriptors survive into
 * the new program, and the file offset they carry. */
#include "common.h"

int main(int argc, char **argv)
{
	if (argc > 1) {
		/* The exec'd copy: report on each descriptor number given. */
		for (int i = 1; i < argc; i++) {
			int fd = atoi(argv[i]);
			int flags = fcntl(fd, F_GETFD);
			if (flags < 0) {
				printf("after exec fd %d: %s\n", fd, en(errno));
				continue;
			}
			off_t off = lseek(fd, 0, SEEK_CUR);
			printf("after exec fd %d: open, FD_CLOEXEC %d, offset %ld\n",
			       fd, flags & FD_CLOEXEC, (long)off);
		}
		return 0;
	}
	make_tmpdir("cloexec_exec");
	write_file(conf_path("f"), "0123456789");
	int plain = open(conf_path("f"), O_RDONLY);
	int cloexec = open(conf_path("f"), O_RDONLY | O_CLOEXEC);
	int setfd = open(conf_path("f"), O_RDONLY);
	int cleared = open(conf_path("f"), O_RDONLY | O_CLOEXEC);
	MUST(plain);
	MUST(cloexec);
	MUST(setfd);
	MUST(cleared);
	MUST(fcntl(setfd, F_SETFD, FD_CLOEXEC));
	MUST(fcntl(cleared, F_SETFD, 0));
	lseek(plain, 3, SEEK_SET);
	int duped = dup(cloexec); /* dup clears FD_CLOEXEC */
	int duped_ce = fcntl(plain, F_DUPFD_CLOEXEC, 20);
	int p[2];
	MUST(pipe2(p, O_CLOEXEC));
	printf("fds: plain %d cloexec %d setfd %d cleared %d dup %d dupfd_cloexec %d pipe %d %d\n",
	       plain, cloexec, setfd, cleared, duped, duped_ce, p[0], p[1]);
	printf("F_GETFD: plain %d cloexec %d dup %d\n", fcntl(plain, F_GETFD),
	       fcntl(cloexec, F_GETFD), fcntl(duped, F_GETFD));

	char a[8][8];
	int nums[8] = { plain, cloexec, setfd, cleared, duped, duped_ce, p[0], p[1] };
	char *args[10] = { argv[0] };
	for (int i = 0; i < 8; i++) {
		snprintf(a[i], sizeof(a[i]), "%d", nums[i]);
		args[i + 1] = a[i];
	}
	args[9] = NULL;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], args);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("exec'd copy: %s\n", wstatus_str(st));
	remove_tmpdir();
	return 0;
}

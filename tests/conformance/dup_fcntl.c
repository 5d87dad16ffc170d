/* dup/dup2/dup3 and fcntl: lowest-free numbering, shared offsets and flags,
 * FD_CLOEXEC, F_DUPFD/F_DUPFD_CLOEXEC, F_GETFL/F_SETFL, and the errors. */
#include "common.h"
#include <sys/resource.h>

static const char *acc(int fl)
{
	switch (fl & O_ACCMODE) {
	case O_RDONLY: return "O_RDONLY";
	case O_WRONLY: return "O_WRONLY";
	case O_RDWR: return "O_RDWR";
	default: return "?";
	}
}

int main(void)
{
	make_tmpdir("dup_fcntl");
	write_file(conf_path("f"), "0123456789");
	int fd = open(conf_path("f"), O_RDWR);
	printf("first open: %d\n", fd);
	SHOW("dup", dup(fd));
	SHOW("dup2 onto 10", dup2(fd, 10));
	SHOW("dup2 same fd", dup2(fd, fd));
	SHOW("dup2 closed same fd", dup2(50, 50));
	SHOW("dup3 same fd", dup3(fd, fd, 0));
	SHOW("dup3 O_CLOEXEC onto 11", dup3(fd, 11, O_CLOEXEC));
	SHOW("dup3 bad flags", dup3(fd, 12, O_NONBLOCK));
	printf("F_GETFD: fd %d, dup 10 %d, dup3 11 %d\n", fcntl(fd, F_GETFD),
	       fcntl(10, F_GETFD), fcntl(11, F_GETFD));
	SHOW("F_DUPFD from 20", fcntl(fd, F_DUPFD, 20));
	SHOW("F_DUPFD from 20 again", fcntl(fd, F_DUPFD, 20));
	SHOW("F_DUPFD_CLOEXEC from 30", fcntl(fd, F_DUPFD_CLOEXEC, 30));
	SHOW("F_GETFD of it", fcntl(30, F_GETFD));
	SHOW("F_SETFD FD_CLOEXEC", fcntl(fd, F_SETFD, FD_CLOEXEC));
	SHOW("F_GETFD after set", fcntl(fd, F_GETFD));
	SHOW("dup clears FD_CLOEXEC", fcntl(dup(fd), F_GETFD));

	/* Duplicates share the offset and the status flags. */
	read(fd, (char[3]){ 0 }, 3);
	SHOW("offset seen through dup 10", lseek(10, 0, SEEK_CUR));
	int fl = fcntl(fd, F_GETFL);
	printf("F_GETFL: %s, O_APPEND %d, O_NONBLOCK %d\n", acc(fl), !!(fl & O_APPEND),
	       !!(fl & O_NONBLOCK));
	SHOW("F_SETFL O_APPEND|O_NONBLOCK", fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK));
	fl = fcntl(10, F_GETFL);
	printf("F_GETFL through dup: %s, O_APPEND %d, O_NONBLOCK %d\n", acc(fl),
	       !!(fl & O_APPEND), !!(fl & O_NONBLOCK));
	/* F_SETFL cannot change the access mode or O_CREAT-like flags. */
	fcntl(fd, F_SETFL, O_WRONLY | O_TRUNC);
	fl = fcntl(fd, F_GETFL);
	printf("after F_SETFL O_WRONLY|O_TRUNC: %s, O_APPEND %d\n", acc(fl), !!(fl & O_APPEND));
	int ind = open(conf_path("f"), O_RDONLY);
	fl = fcntl(ind, F_GETFL);
	printf("independent open: %s, O_APPEND %d\n", acc(fl), !!(fl & O_APPEND));
	int wo = open(conf_path("f"), O_WRONLY | O_APPEND);
	fl = fcntl(wo, F_GETFL);
	printf("O_WRONLY|O_APPEND open: %s, O_APPEND %d\n", acc(fl), !!(fl & O_APPEND));

	/* Closing one duplicate leaves the other open. */
	close(fd);
	SHOW("read through dup after close of original", read(10, (char[2]){ 0 }, 2));

	/* Errors. */
	SHOW("dup bad fd", dup(9999));
	SHOW("dup2 bad old fd", dup2(9999, 5));
	SHOW("dup2 negative new fd", dup2(10, -1));
	SHOW("fcntl bad fd", fcntl(9999, F_GETFD));
	SHOW("fcntl bad cmd", fcntl(10, 12345));
	SHOW("F_DUPFD negative", fcntl(10, F_DUPFD, -1));
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	SHOW("F_DUPFD at RLIMIT_NOFILE", fcntl(10, F_DUPFD, (long)rl.rlim_cur));
	SHOW("dup2 to RLIMIT_NOFILE", dup2(10, (int)rl.rlim_cur));
	SHOW("close bad fd", close(9999));
	SHOW("close twice", close(11) + close(11));

	/* close_range. */
	SHOW("close_range 20..30", syscall(SYS_close_range, 20, 30, 0));
	SHOW("fd 20 after close_range", fcntl(20, F_GETFD));
	SHOW("close_range bad range", syscall(SYS_close_range, 30, 20, 0));
	remove_tmpdir();
	return 0;
}

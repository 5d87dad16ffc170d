/* getdents64 of a directory with ENTRIES files, made in /tmp by the
 * workload itself. Prints ms per full listing (open, read every entry,
 * close). */
#include "bench.h"
#include <fcntl.h>
#include <sys/syscall.h>

struct dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static char dir[] = "/tmp/bench-getdents-XXXXXX";
static long entries;

static void op(void *arg)
{
	(void)arg;
	static char buf[32768];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fail("open the directory");
	long seen = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (n < 0)
			fail("getdents64");
		if (n == 0)
			break;
		for (long at = 0; at < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + at);
			if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0) {
				if (d->d_name[0] != 'f')
					wrong("an entry the workload did not make");
				seen++;
			}
			at += d->d_reclen;
		}
	}
	if (close(fd) != 0)
		fail("close");
	if (seen != entries)
		wrong("the number of entries");
}

static void cleanup(void)
{
	char path[64];
	for (long i = 0; i < entries; i++) {
		snprintf(path, sizeof path, "%s/f%06ld", dir, i);
		unlink(path);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	entries = arg_long(argc, argv, 2, 10000);
	if (!mkdtemp(dir))
		fail("mkdtemp in /tmp");
	char path[64];
	for (long i = 0; i < entries; i++) {
		snprintf(path, sizeof path, "%s/f%06ld", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			int err = errno;
			entries = i;
			cleanup();
			errno = err;
			fail("creating the directory's files");
		}
		close(fd);
	}
	double ns = time_per_op(target_ms, op, NULL);
	cleanup();
	report(ns / 1e6);
	return 0;
}

/* Device files: /dev/null, /dev/zero, /dev/full, /dev/random and
 * /dev/urandom reads and writes, their types and device numbers. */
#include "common.h"
#include <sys/mman.h>
#include <sys/sysmacros.h>

static void dev(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		printf("%s: %s\n", path, en(errno));
		return;
	}
	printf("%s: %s %u:%u\n", path, S_ISCHR(st.st_mode) ? "char" : "not char",
	       major(st.st_rdev), minor(st.st_rdev));
}

int main(void)
{
	const char *devs[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
			       "/dev/urandom", "/dev/tty" };
	for (int i = 0; i < 6; i++)
		dev(devs[i]);

	char buf[4096];
	int fd = open("/dev/null", O_RDWR);
	SHOW("read /dev/null", read(fd, buf, sizeof(buf)));
	SHOW("write /dev/null", write(fd, buf, sizeof(buf)));
	const char *volatile null_buf = NULL;
	SHOW("write /dev/null from NULL", write(fd, null_buf, 100));
	SHOW("lseek /dev/null", lseek(fd, 100, SEEK_SET));
	close(fd);

	fd = open("/dev/zero", O_RDWR);
	memset(buf, 'x', sizeof(buf));
	SHOW("read /dev/zero", read(fd, buf, sizeof(buf)));
	int zero = 1;
	for (size_t i = 0; i < sizeof(buf); i++)
		zero &= buf[i] == 0;
	YESNO("all zero", zero);
	SHOW("write /dev/zero", write(fd, buf, 10));
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	YESNO("mmap /dev/zero gives zeroed memory", m != MAP_FAILED && m[0] == 0 && m[8191] == 0);
	close(fd);

	fd = open("/dev/full", O_RDWR);
	SHOW("write /dev/full", write(fd, "x", 1));
	memset(buf, 'x', 16);
	SHOW("read /dev/full", read(fd, buf, 16));
	YESNO("reads as zeros", buf[0] == 0 && buf[15] == 0);
	close(fd);

	fd = open("/dev/urandom", O_RDONLY);
	static char big[1 << 20];
	SHOW("read /dev/urandom 100", read(fd, buf, 100));
	SHOW("read /dev/urandom 1 MiB", read(fd, big, sizeof(big)));
	int nonzero = 0;
	for (int i = 0; i < 100; i++)
		nonzero += buf[i] != 0;
	YESNO("random bytes are not all zero", nonzero > 50);
	close(fd);
	fd = open("/dev/random", O_RDONLY | O_NONBLOCK);
	SHOW("read /dev/random 32 (nonblocking)", read(fd, buf, 32));
	close(fd);
	fd = open("/dev/urandom", O_WRONLY);
	SHOW("write /dev/urandom", write(fd, "entropy", 7));
	close(fd);

	/* /dev/fd and /dev/std* are links into /proc/self/fd. */
	char link[256];
	ssize_t n = readlink("/dev/fd", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	printf("/dev/fd -> %s\n", link);
	n = readlink("/dev/stdout", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	printf("/dev/stdout -> %s\n", link);
	int d = open("/dev/fd/1", O_WRONLY);
	SHOW("write through /dev/fd/1", write(d, "via /dev/fd/1\n", 14));
	return 0;
}

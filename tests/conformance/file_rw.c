/* read/write/lseek/pread/pwrite/readv/writev on a regular file: offsets,
 * holes, O_APPEND, short reads at EOF, and EBADF/ESPIPE/EINVAL errors. */
#include "common.h"
#include <sys/uio.h>

static void dump(const char *label, int fd, off_t off, size_t len)
{
	char buf[128];
	ssize_t n = pread(fd, buf, len, off);
	printf("%s: %zd bytes [", label, n);
	for (ssize_t i = 0; i < n; i++)
		putchar(buf[i] ? buf[i] : '.');
	printf("]\n");
}

int main(void)
{
	make_tmpdir("file_rw");
	int fd = open(conf_path("f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	MUST(fd);
	SHOW("write", write(fd, "hello world", 11));
	SHOW("offset after write", lseek(fd, 0, SEEK_CUR));
	SHOW("read at EOF", read(fd, (char[4]){ 0 }, 4));
	SHOW("lseek SEEK_SET 6", lseek(fd, 6, SEEK_SET));
	char buf[128] = { 0 };
	SHOW("read 100 from 6", read(fd, buf, 100));
	printf("got: %s\n", buf);
	SHOW("lseek SEEK_CUR -5", lseek(fd, -5, SEEK_CUR));
	SHOW("lseek SEEK_END -1", lseek(fd, -1, SEEK_END));
	SHOW("lseek SEEK_END +4 (past EOF)", lseek(fd, 4, SEEK_END));
	SHOW("write past EOF", write(fd, "!", 1));
	dump("file with hole", fd, 0, 64);
	SHOW("lseek negative", lseek(fd, -100, SEEK_SET));
	SHOW("lseek bad whence", lseek(fd, 0, 42));
	SHOW("offset unchanged after errors", lseek(fd, 0, SEEK_CUR));
	SHOW("SEEK_DATA 0", lseek(fd, 0, SEEK_DATA));
	SHOW("SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
	SHOW("SEEK_DATA past EOF", lseek(fd, 100, SEEK_DATA));

	/* pread/pwrite leave the offset alone. */
	lseek(fd, 2, SEEK_SET);
	SHOW("pwrite at 0", pwrite(fd, "J", 1, 0));
	memset(buf, 0, sizeof(buf));
	SHOW("pread 5 at 0", pread(fd, buf, 5, 0));
	printf("got: %s\n", buf);
	SHOW("offset still 2", lseek(fd, 0, SEEK_CUR));
	SHOW("pread at EOF", pread(fd, buf, 5, 1000));
	SHOW("pread negative offset", pread(fd, buf, 5, -1));

	/* readv/writev. */
	struct iovec w[3] = { { "abc", 3 }, { "", 0 }, { "defgh", 5 } };
	lseek(fd, 0, SEEK_SET);
	SHOW("writev", writev(fd, w, 3));
	char a[2], b[4], c[10] = { 0 };
	struct iovec r[3] = { { a, 2 }, { b, 4 }, { c, 10 } };
	lseek(fd, 0, SEEK_SET);
	SHOW("readv", readv(fd, r, 3));
	printf("readv pieces: %.2s|%.4s|%.10s\n", a, b, c);
	SHOW("preadv at 3", preadv(fd, r, 1, 3));
	printf("preadv piece: %.2s\n", a);
	volatile int bad_count = -1;
	SHOW("writev iovcnt -1", writev(fd, w, bad_count));
	bad_count = 1025;
	SHOW("writev iovcnt 1025", writev(fd, w, bad_count));
	SHOW("readv zero vectors", readv(fd, r, 0));

	/* O_APPEND: every write goes to the end, whatever the offset. */
	int ap = open(conf_path("f"), O_WRONLY | O_APPEND);
	MUST(ap);
	lseek(ap, 0, SEEK_SET);
	SHOW("append write", write(ap, "END", 3));
	SHOW("append offset is the new size", lseek(ap, 0, SEEK_CUR));
	SHOW("pwrite with O_APPEND", pwrite(ap, "P", 1, 0));
	dump("after appends", fd, 0, 64);

	/* Access-mode and descriptor errors. */
	int ro = open(conf_path("f"), O_RDONLY);
	SHOW("write to O_RDONLY", write(ro, "x", 1));
	SHOW("read from O_WRONLY", read(ap, buf, 1));
	close(ro);
	SHOW("read closed fd", read(ro, buf, 1));
	SHOW("write fd -1", write(-1, "x", 1));
	SHOW("read count 0", read(fd, buf, 0));
	int p[2];
	MUST(pipe(p));
	SHOW("lseek on pipe", lseek(p[0], 0, SEEK_SET));
	SHOW("pread on pipe", pread(p[0], buf, 1, 0));
	int dir = open(conf_tmpdir, O_RDONLY | O_DIRECTORY);
	SHOW("read on directory", read(dir, buf, 1));

	/* Two descriptors have independent offsets; a dup shares one. */
	int f1 = open(conf_path("f"), O_RDONLY), f2 = open(conf_path("f"), O_RDONLY);
	int f3 = dup(f1);
	read(f1, buf, 3);
	SHOW("independent open offset", lseek(f2, 0, SEEK_CUR));
	SHOW("dup'd offset", lseek(f3, 0, SEEK_CUR));

	/* A large write and read back. */
	static char big[1 << 20];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	int bf = open(conf_path("big"), O_RDWR | O_CREAT, 0600);
	SHOW("write 1 MiB", write(bf, big, sizeof(big)));
	static char back[1 << 20];
	SHOW("pread 1 MiB", pread(bf, back, sizeof(back), 0));
	YESNO("1 MiB round trip", memcmp(big, back, sizeof(big)) == 0);
	remove_tmpdir();
	return 0;
}

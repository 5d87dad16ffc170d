/* truncate/ftruncate: growing with zeros, shrinking, the offset left as it
 * was, and EINVAL/EISDIR/EBADF/ENOENT errors. */
#include "common.h"

static void show_file(const char *label, const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	printf("%s: %zd bytes [", label, n);
	for (ssize_t i = 0; i < n; i++)
		putchar(buf[i] ? buf[i] : '.');
	printf("]\n");
}

int main(void)
{
	make_tmpdir("truncate");
	const char *f = conf_path("f");
	write_file(f, "0123456789");
	SHOW("truncate to 4", truncate(f, 4));
	show_file("after", f);
	SHOW("truncate to 8", truncate(f, 8));
	show_file("grown with zeros", f);
	SHOW("truncate to 0", truncate(f, 0));
	show_file("emptied", f);

	int fd = open(f, O_RDWR);
	write(fd, "abcdef", 6);
	SHOW("ftruncate to 3", ftruncate(fd, 3));
	SHOW("offset unchanged", lseek(fd, 0, SEEK_CUR));
	SHOW("write at old offset", write(fd, "X", 1));
	show_file("hole between", f);
	SHOW("ftruncate to 1 MiB", ftruncate(fd, 1 << 20));
	struct stat st;
	fstat(fd, &st);
	printf("size: %ld\n", (long)st.st_size);
	SHOW("ftruncate same size", ftruncate(fd, 1 << 20));
	SHOW("ftruncate negative", ftruncate(fd, -1));
	SHOW("truncate negative", truncate(f, -1));

	int ro = open(f, O_RDONLY);
	SHOW("ftruncate on O_RDONLY", ftruncate(ro, 0));
	SHOW("ftruncate bad fd", ftruncate(9999, 0));
	SHOW("truncate a directory", truncate(conf_tmpdir, 0));
	int dfd = open(conf_tmpdir, O_RDONLY);
	SHOW("ftruncate a directory fd", ftruncate(dfd, 0));
	SHOW("truncate missing", truncate(conf_path("missing"), 0));
	int p[2];
	MUST(pipe(p));
	SHOW("ftruncate a pipe", ftruncate(p[1], 0));

	/* O_APPEND writes after a shrink land at the new end. */
	int ap = open(f, O_WRONLY | O_APPEND);
	ftruncate(fd, 2);
	write(ap, "Z", 1);
	show_file("append after shrink", f);
	remove_tmpdir();
	return 0;
}

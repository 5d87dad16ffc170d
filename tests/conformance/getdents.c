/* getdents64 on a directory the program fills itself: names and d_type
 * (sorted before printing), "." and "..", small buffers, ENOTDIR, entries
 * seen after unlink, rewinding with lseek, and readdir. */
#include "common.h"
#include <dirent.h>

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static const char *dtype(unsigned char t)
{
	switch (t) {
	case DT_REG: return "reg";
	case DT_DIR: return "dir";
	case DT_LNK: return "lnk";
	case DT_FIFO: return "fifo";
	default: return "other";
	}
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads all entries with the given buffer size; prints them sorted. */
static void list(const char *label, int fd, size_t bufsize)
{
	char *lines[256];
	int n = 0, calls = 0;
	char *buf = malloc(bufsize);
	for (;;) {
		long r = syscall(SYS_getdents64, fd, buf, bufsize);
		if (r < 0) {
			printf("%s: getdents64 %s\n", label, en(errno));
			free(buf);
			return;
		}
		if (r == 0)
			break;
		calls++;
		for (long off = 0; off < r;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			asprintf(&lines[n++], "%s(%s)", d->d_name, dtype(d->d_type));
			off += d->d_reclen;
		}
	}
	qsort(lines, n, sizeof(lines[0]), cmp);
	printf("%s: %d entries:", label, n);
	for (int i = 0; i < n; i++) {
		printf(" %s", lines[i]);
		free(lines[i]);
	}
	printf("\n");
	if (bufsize <= 64)
		printf("%s: needed more than one call: %s\n", label, calls > 1 ? "yes" : "no");
	free(buf);
}

int main(void)
{
	make_tmpdir("getdents");
	MUST(mkdir(conf_path("d"), 0755));
	const char *names[] = { "zeta", "alpha", "beta", "a-long-file-name-with-dashes" };
	for (int i = 0; i < 4; i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "d/%s", names[i]);
		write_file(conf_path(rel), "x");
	}
	MUST(mkdir(conf_path("d/subdir"), 0755));
	MUST(symlink("alpha", conf_path("d/link")));
	MUST(mkfifo(conf_path("d/fifo"), 0644));

	int fd = open(conf_path("d"), O_RDONLY | O_DIRECTORY);
	MUST(fd);
	list("all", fd, 4096);
	SHOW("again at end", syscall(SYS_getdents64, fd, (char[4096]){ 0 }, 4096));
	SHOW("rewind", lseek(fd, 0, SEEK_SET));
	list("small buffer", fd, 64);
	lseek(fd, 0, SEEK_SET);
	SHOW("buffer too small for one entry", syscall(SYS_getdents64, fd, (char[8]){ 0 }, 8));

	/* Entries removed or added are seen after rewinding. */
	unlink(conf_path("d/beta"));
	write_file(conf_path("d/gamma"), "y");
	lseek(fd, 0, SEEK_SET);
	list("after unlink beta, create gamma", fd, 4096);

	/* Errors. */
	int ff = open(conf_path("d/alpha"), O_RDONLY);
	SHOW("getdents64 on a file", syscall(SYS_getdents64, ff, (char[256]){ 0 }, 256));
	SHOW("getdents64 bad fd", syscall(SYS_getdents64, 9999, (char[256]){ 0 }, 256));
	lseek(fd, 0, SEEK_SET);
	SHOW("getdents64 bad buffer", syscall(SYS_getdents64, fd, (void *)8, 4096));

	/* An empty directory has just . and .. */
	MUST(mkdir(conf_path("empty"), 0755));
	int ef = open(conf_path("empty"), O_RDONLY | O_DIRECTORY);
	list("empty", ef, 4096);
	/* A removed directory reads as empty. */
	rmdir(conf_path("empty"));
	lseek(ef, 0, SEEK_SET);
	list("removed", ef, 4096);

	/* readdir through libc sees the same names. */
	DIR *dir = opendir(conf_path("d"));
	int count = 0;
	while (readdir(dir))
		count++;
	closedir(dir);
	printf("readdir count: %d\n", count);
	remove_tmpdir();
	return 0;
}

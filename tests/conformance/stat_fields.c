/* stat/fstat/lstat/fstatat/statx: the fields that are the same on every
 * run (type, permission bits, size, link count, inode identity), for files,
 * directories, symlinks, hard links, pipes and devices. */
#include "common.h"
#include <sys/sysmacros.h>

static const char *type_of(mode_t m)
{
	if (S_ISREG(m)) return "regular";
	if (S_ISDIR(m)) return "directory";
	if (S_ISLNK(m)) return "symlink";
	if (S_ISFIFO(m)) return "fifo";
	if (S_ISCHR(m)) return "char device";
	if (S_ISBLK(m)) return "block device";
	if (S_ISSOCK(m)) return "socket";
	return "unknown";
}

static void show(const char *label, int r, struct stat *st)
{
	if (r < 0) {
		printf("%s: %s\n", label, en(errno));
		return;
	}
	/* A directory's size depends on the filesystem: left out. */
	printf("%s: %s mode %04o", label, type_of(st->st_mode), st->st_mode & 07777);
	if (!S_ISDIR(st->st_mode))
		printf(" size %ld", (long)st->st_size);
	printf(" nlink %ld\n", (long)st->st_nlink);
}

int main(void)
{
	umask(022);
	make_tmpdir("stat_fields");
	const char *f = conf_path("file"), *d = conf_path("dir");
	write_file(f, "0123456789");
	MUST(chmod(f, 0640));
	MUST(mkdir(d, 0751));
	MUST(symlink("file", conf_path("sym")));
	struct stat st, st2;

	show("stat file", stat(f, &st), &st);
	show("stat dir", stat(d, &st), &st);
	show("lstat symlink", lstat(conf_path("sym"), &st), &st);
	show("stat symlink", stat(conf_path("sym"), &st), &st);
	int fd = open(f, O_RDONLY);
	show("fstat file", fstat(fd, &st), &st);
	stat(f, &st2);
	YESNO("fstat and stat agree on dev/ino", st.st_dev == st2.st_dev && st.st_ino == st2.st_ino);

	MUST(link(f, conf_path("hard")));
	show("stat after link", stat(f, &st), &st);
	stat(conf_path("hard"), &st2);
	YESNO("hard link shares the inode", st.st_ino == st2.st_ino);
	MUST(mkdir(conf_path("dir/sub"), 0700));
	show("dir with a subdirectory", stat(d, &st), &st);
	unlink(conf_path("hard"));
	show("fstat after unlink of link", fstat(fd, &st), &st);
	unlink(f);
	show("fstat after unlink of last name", fstat(fd, &st), &st);
	close(fd);

	/* fstatat flags. */
	int dfd = open(conf_tmpdir, O_RDONLY | O_DIRECTORY);
	write_file(conf_path("file"), "abc");
	show("fstatat relative", fstatat(dfd, "file", &st, 0), &st);
	show("fstatat AT_SYMLINK_NOFOLLOW", fstatat(dfd, "sym", &st, AT_SYMLINK_NOFOLLOW), &st);
	show("fstatat AT_EMPTY_PATH", fstatat(dfd, "", &st, AT_EMPTY_PATH), &st);
	show("fstatat empty path without flag", fstatat(dfd, "", &st, 0), &st);
	show("fstatat bad flag", fstatat(dfd, "file", &st, 0x40000000), &st);

	/* statx. */
	struct statx sx;
	memset(&sx, 0, sizeof(sx));
	int r = statx(dfd, "file", 0, STATX_BASIC_STATS, &sx);
	printf("statx: %d, type %s, mode %04o, size %llu, nlink %u\n", r,
	       type_of(sx.stx_mode), sx.stx_mode & 07777,
	       (unsigned long long)sx.stx_size, sx.stx_nlink);
	unsigned want = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_SIZE | STATX_INO;
	YESNO("statx mask has type/mode/nlink/size/ino", (sx.stx_mask & want) == want);
	stat(conf_path("file"), &st);
	YESNO("statx ino matches stat", sx.stx_ino == st.st_ino);
	printf("statx on symlink NOFOLLOW: %s\n",
	       statx(dfd, "sym", AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx) == 0 ? type_of(sx.stx_mode) : en(errno));
	SHOW("statx bad mask bit", statx(dfd, "file", 0, 0x80000000U, &sx));
	SHOW("statx bad flags", statx(dfd, "file", 0x1000000, STATX_TYPE, &sx));

	/* Other kinds of file. */
	int p[2];
	MUST(pipe(p));
	show("fstat pipe", fstat(p[0], &st), &st);
	show("stat /dev/null", stat("/dev/null", &st), &st);
	printf("/dev/null rdev: %u:%u\n", major(st.st_rdev), minor(st.st_rdev));
	MUST(mkfifo(conf_path("fifo"), 0600));
	show("stat fifo", stat(conf_path("fifo"), &st), &st);

	/* Errors. */
	show("missing", stat(conf_path("missing"), &st), &st);
	show("through a file", stat(conf_path("file/x"), &st), &st);
	show("empty path", stat("", &st), &st);
	show("trailing slash on file", stat(conf_path("file/"), &st), &st);
	show("trailing slash on dir", stat(conf_path("dir/"), &st), &st);
	show("fstat bad fd", fstat(9999, &st), &st);
	MUST(symlink("loop", conf_path("loop")));
	show("symlink loop", stat(conf_path("loop"), &st), &st);
	remove_tmpdir();
	return 0;
}

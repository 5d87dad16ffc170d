/* utimensat/futimens/utimes: setting fixed times and reading them back,
 * UTIME_OMIT and UTIME_NOW, AT_SYMLINK_NOFOLLOW, and EINVAL errors. Only
 * times the program sets itself are printed. */
#include "common.h"
#include <sys/time.h>

static void show_times(const char *label, const char *path, int nofollow)
{
	struct stat st;
	int r = nofollow ? lstat(path, &st) : stat(path, &st);
	if (r < 0) {
		printf("%s: %s\n", label, en(errno));
		return;
	}
	printf("%s: atime %ld.%09ld mtime %ld.%09ld\n", label, (long)st.st_atim.tv_sec,
	       st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

int main(void)
{
	make_tmpdir("utimensat");
	const char *f = conf_path("f");
	write_file(f, "x");
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1500000000, 987654321 } };
	SHOW("utimensat fixed", utimensat(AT_FDCWD, f, ts, 0));
	show_times("after fixed", f, 0);

	struct timespec omit_a[2] = { { 0, UTIME_OMIT }, { 1600000000, 5 } };
	SHOW("utimensat omit atime", utimensat(AT_FDCWD, f, omit_a, 0));
	show_times("after omit atime", f, 0);

	struct timespec now[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
	struct timespec before;
	clock_gettime(CLOCK_REALTIME, &before);
	SHOW("utimensat atime now", utimensat(AT_FDCWD, f, now, 0));
	struct stat st;
	stat(f, &st);
	YESNO("atime is now (not before the call, give or take a second)",
	      st.st_atim.tv_sec >= before.tv_sec - 1);
	YESNO("mtime kept", st.st_mtim.tv_sec == 1600000000 && st.st_mtim.tv_nsec == 5);

	/* futimens and utimes. */
	int fd = open(f, O_RDONLY);
	struct timespec ft[2] = { { 2000000000, 0 }, { 2000000001, 1 } };
	SHOW("futimens", futimens(fd, ft));
	show_times("after futimens", f, 0);
	struct timeval tv[2] = { { 1234567890, 500000 }, { 1234567891, 250000 } };
	SHOW("utimes", utimes(f, tv));
	show_times("after utimes", f, 0);

	/* A write updates mtime to now. */
	int wfd = open(f, O_WRONLY);
	write(wfd, "y", 1);
	stat(f, &st);
	YESNO("write moved mtime forward", st.st_mtim.tv_sec > 1234567891);

	/* Symlinks: NOFOLLOW changes the link, not the target. */
	MUST(symlink("f", conf_path("l")));
	utimensat(AT_FDCWD, f, ts, 0);
	struct timespec lt[2] = { { 1111111111, 0 }, { 1222222222, 0 } };
	SHOW("utimensat NOFOLLOW on symlink",
	     utimensat(AT_FDCWD, conf_path("l"), lt, AT_SYMLINK_NOFOLLOW));
	show_times("link", conf_path("l"), 1);
	show_times("target unchanged", f, 0);

	/* Errors. */
	struct timespec bad[2] = { { 0, 1000000000 }, { 0, 0 } };
	SHOW("nsec out of range", utimensat(AT_FDCWD, f, bad, 0));
	SHOW("bad flags", utimensat(AT_FDCWD, f, ts, 0x8000));
	SHOW("missing file", utimensat(AT_FDCWD, conf_path("missing"), ts, 0));
	SHOW("futimens bad fd", futimens(9999, ts));
	SHOW("utimensat NULL path on fd", syscall(SYS_utimensat, fd, NULL, ts, 0));
	show_times("after NULL path", f, 0);

	/* Directory times change when an entry is added. */
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	utimensat(AT_FDCWD, conf_tmpdir, old, 0);
	write_file(conf_path("new"), "n");
	stat(conf_tmpdir, &st);
	YESNO("directory mtime moved on create", st.st_mtim.tv_sec > 1000000000);
	remove_tmpdir();
	return 0;
}

/* open/openat flags and errors: O_CREAT|O_EXCL, O_TRUNC, O_DIRECTORY,
 * O_NOFOLLOW, O_PATH, dirfd-relative paths, and the usual errnos. */
#include "common.h"

static long fsize(const char *p)
{
	struct stat st;
	return stat(p, &st) < 0 ? -1 : (long)st.st_size;
}

int main(void)
{
	make_tmpdir("open_flags");
	const char *f = conf_path("file");
	OK("O_CREAT new", open(f, O_WRONLY | O_CREAT, 0644));
	SHOW("O_CREAT|O_EXCL existing", open(f, O_WRONLY | O_CREAT | O_EXCL, 0644));
	OK("O_CREAT existing without O_EXCL", open(f, O_WRONLY | O_CREAT, 0644));
	write_file(f, "some contents");
	printf("size before O_TRUNC: %ld\n", fsize(f));
	OK("O_TRUNC", open(f, O_WRONLY | O_TRUNC));
	printf("size after O_TRUNC: %ld\n", fsize(f));
	write_file(f, "abc");
	OK("O_RDONLY|O_TRUNC", open(f, O_RDONLY | O_TRUNC));
	printf("size after O_RDONLY|O_TRUNC: %ld\n", fsize(f));

	SHOW("missing file", open(conf_path("missing"), O_RDONLY));
	SHOW("O_CREAT in missing dir", open(conf_path("nodir/x"), O_RDWR | O_CREAT, 0644));
	SHOW("file as directory component", open(conf_path("file/x"), O_RDONLY));
	SHOW("O_DIRECTORY on file", open(f, O_RDONLY | O_DIRECTORY));
	SHOW("directory O_WRONLY", open(conf_tmpdir, O_WRONLY));
	SHOW("directory O_RDWR", open(conf_tmpdir, O_RDWR));
	OK("directory O_RDONLY", open(conf_tmpdir, O_RDONLY));
	SHOW("O_CREAT on a directory", open(conf_tmpdir, O_RDONLY | O_CREAT, 0644));
	SHOW("O_CREAT|O_DIRECTORY new", open(conf_path("newdir"), O_RDONLY | O_CREAT | O_DIRECTORY, 0755));
	SHOW("empty path", open("", O_RDONLY));
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	SHOW("name too long", open(conf_path(longname), O_RDONLY | O_CREAT, 0644));
	OK("access mode 3 (ioctl only)", open(f, 3));

	/* Symlinks. */
	MUST(symlink("file", conf_path("link")));
	MUST(symlink("missing", conf_path("dangling")));
	MUST(symlink("loop", conf_path("loop")));
	OK("open through symlink", open(conf_path("link"), O_RDONLY));
	SHOW("O_NOFOLLOW on symlink", open(conf_path("link"), O_RDONLY | O_NOFOLLOW));
	SHOW("dangling symlink", open(conf_path("dangling"), O_RDONLY));
	OK("O_CREAT through dangling symlink", open(conf_path("dangling"), O_WRONLY | O_CREAT, 0644));
	YESNO("dangling target now exists", access(conf_path("missing"), F_OK) == 0);
	SHOW("O_CREAT|O_EXCL on symlink", open(conf_path("link"), O_WRONLY | O_CREAT | O_EXCL, 0644));
	SHOW("symlink loop", open(conf_path("loop"), O_RDONLY));

	/* O_PATH: a handle that cannot be read. */
	int pf = open(f, O_PATH);
	MUST(pf);
	char buf[8];
	SHOW("read O_PATH fd", read(pf, buf, 1));
	printf("O_PATH F_GETFL has O_PATH: %d\n", (fcntl(pf, F_GETFL) & O_PATH) != 0);
	OK("O_PATH|O_NOFOLLOW on symlink", open(conf_path("link"), O_PATH | O_NOFOLLOW));

	/* openat relative to a directory descriptor. */
	write_file(f, "abc");
	int dfd = open(conf_tmpdir, O_RDONLY | O_DIRECTORY);
	MUST(dfd);
	int at = openat(dfd, "file", O_RDONLY);
	memset(buf, 0, sizeof(buf));
	read(at, buf, 3);
	printf("openat(dirfd, \"file\") reads: %s\n", buf);
	OK("openat with absolute path ignores dirfd", openat(12345, f, O_RDONLY));
	SHOW("openat with a file as dirfd", openat(at, "x", O_RDONLY));
	SHOW("openat with a bad dirfd", openat(12345, "file", O_RDONLY));
	OK("openat AT_FDCWD", openat(AT_FDCWD, f, O_RDONLY));

	/* Lowest free descriptor is used. */
	int a = open(f, O_RDONLY), b = open(f, O_RDONLY);
	close(a);
	int c = open(f, O_RDONLY);
	YESNO("reuses the lowest free descriptor", c == a && b == a + 1);

	/* Mode bits of a new file (umask 0). */
	umask(0);
	close(open(conf_path("m640"), O_WRONLY | O_CREAT, 0640));
	close(open(conf_path("m4755"), O_WRONLY | O_CREAT, 04755));
	struct stat st;
	stat(conf_path("m640"), &st);
	printf("mode 0640 file: %o\n", st.st_mode & 07777);
	stat(conf_path("m4755"), &st);
	printf("mode 04755 file: %o\n", st.st_mode & 07777);
	remove_tmpdir();
	return 0;
}

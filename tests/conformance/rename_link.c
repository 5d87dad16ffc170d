/* rename, link, symlink and unlink: the errors and the link counts. */
#include "common.h"
#include <linux/fs.h>

static long renameat2_(const char *a, const char *b, unsigned flags)
{
	return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static long nlink(const char *p)
{
	struct stat st;
	return lstat(p, &st) < 0 ? -1 : (long)st.st_nlink;
}

int main(void)
{
	make_tmpdir("rename");
	const char *f = conf_path("f"), *g = conf_path("g"), *d = conf_path("d"),
		   *e = conf_path("e"), *l = conf_path("l");
	write_file(f, "F");
	write_file(g, "G");
	MUST(mkdir(d, 0755));
	MUST(mkdir(e, 0755));
	write_file(conf_path("e/x"), "x");

	SHOW("rename file over file", rename(f, g));
	SHOW("old name gone", access(f, F_OK));
	SHOW("file over directory", rename(g, d));
	SHOW("directory over file", rename(d, g));
	SHOW("directory over non-empty directory", rename(d, e));
	SHOW("directory into itself", rename(d, conf_path("d/sub")));
	SHOW("missing source", rename(f, conf_path("z")));
	SHOW("to missing directory", rename(g, conf_path("nodir/z")));
	SHOW("dot", rename(conf_path("d/."), conf_path("q")));
	SHOW("same file", rename(g, g));
	MUST(mkdir(conf_path("d2"), 0755));
	SHOW("directory over empty directory", rename(d, conf_path("d2")));
	SHOW("NOREPLACE over existing", renameat2_(g, conf_path("e/x"), RENAME_NOREPLACE));
	SHOW("EXCHANGE", renameat2_(g, conf_path("e/x"), RENAME_EXCHANGE));
	char buf[8] = { 0 };
	int fd = open(g, O_RDONLY);
	read(fd, buf, 7);
	close(fd);
	printf("after exchange g holds: %s\n", buf);
	SHOW("EXCHANGE with missing", renameat2_(g, conf_path("none"), RENAME_EXCHANGE));
	SHOW("bad flags", renameat2_(g, conf_path("e/x"), RENAME_NOREPLACE | RENAME_EXCHANGE));

	/* Links. */
	SHOW("link", link(g, f));
	SHOW("nlink", nlink(g));
	SHOW("link exists", link(g, f));
	SHOW("link directory", link(conf_path("d2"), conf_path("d3")));
	SHOW("unlink one", unlink(f));
	SHOW("nlink after", nlink(g));
	SHOW("unlink directory", unlink(conf_path("d2")));
	SHOW("rmdir file", rmdir(g));
	SHOW("rmdir non-empty", rmdir(e));
	SHOW("rmdir dot", rmdir(conf_path("e/.")));
	SHOW("nlink of dir with one subdir", nlink(e) - (long)0);

	/* Symlinks. */
	SHOW("symlink", symlink("g", l));
	SHOW("symlink exists", symlink("g", l));
	SHOW("empty target", symlink("", conf_path("l2")));
	char t[64];
	ssize_t n = readlink(l, t, sizeof(t));
	printf("readlink: %.*s\n", (int)(n < 0 ? 0 : n), t);
	SHOW("readlink short buffer", readlink(l, t, 0));
	SHOW("readlink not a link", readlink(g, t, sizeof(t)));
	SHOW("open through link", (fd = open(l, O_RDONLY)) >= 0 ? 0 : -1);
	close(fd);
	SHOW("unlink link", unlink(l));
	SHOW("target still there", access(g, F_OK));
	SHOW("unlink trailing slash on file", unlink(conf_path("g/")));
	SHOW("mkdir trailing slash", mkdir(conf_path("m/"), 0755));
	SHOW("rmdir trailing slash", rmdir(conf_path("m/")));
	remove_tmpdir();
	return 0;
}

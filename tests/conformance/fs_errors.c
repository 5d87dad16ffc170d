/* Namespace operations and their errors: mkdir/rmdir/unlink/rename/link/
 * symlink/readlink with EEXIST, ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL,
 * EPERM, and the *at variants and renameat2 flags. */
#include "common.h"
#include <linux/fs.h>

static int exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

int main(void)
{
	make_tmpdir("fs_errors");
	const char *d = conf_path("d"), *f = conf_path("f");
	SHOW("mkdir", mkdir(d, 0755));
	SHOW("mkdir existing", mkdir(d, 0755));
	write_file(f, "file");
	SHOW("mkdir over a file", mkdir(f, 0755));
	SHOW("mkdir missing parent", mkdir(conf_path("no/sub"), 0755));
	SHOW("mkdir under a file", mkdir(conf_path("f/sub"), 0755));
	SHOW("mkdir trailing slash", mkdir(conf_path("slash/"), 0755));

	write_file(conf_path("d/inner"), "x");
	SHOW("rmdir non-empty", rmdir(d));
	SHOW("rmdir a file", rmdir(f));
	SHOW("rmdir missing", rmdir(conf_path("missing")));
	SHOW("rmdir dot", rmdir(conf_path("d/.")));
	SHOW("rmdir dotdot", rmdir(conf_path("d/..")));
	SHOW("unlink a directory", unlink(d));
	SHOW("unlink missing", unlink(conf_path("missing")));
	SHOW("unlink through a file", unlink(conf_path("f/x")));

	/* rename. */
	MUST(mkdir(conf_path("e"), 0755));
	SHOW("rename dir over non-empty dir", rename(conf_path("e"), d));
	SHOW("rename file over dir", rename(f, d));
	SHOW("rename dir over file", rename(d, f));
	SHOW("rename missing", rename(conf_path("missing"), conf_path("x")));
	SHOW("rename dir into itself", rename(d, conf_path("d/sub")));
	SHOW("rename to same name", rename(f, f));
	SHOW("rename dir over empty dir", rename(d, conf_path("e")));
	YESNO("old name gone", !exists(d));
	YESNO("contents moved", exists(conf_path("e/inner")));
	write_file(conf_path("g"), "g");
	SHOW("rename file over file", rename(conf_path("g"), f));
	{
		char buf[8] = { 0 };
		int fd = open(f, O_RDONLY);
		read(fd, buf, 7);
		close(fd);
		printf("replaced contents: %s\n", buf);
	}

	/* renameat2 flags. */
	write_file(conf_path("a"), "a");
	write_file(conf_path("b"), "b");
	SHOW("RENAME_NOREPLACE onto existing",
	     renameat2(AT_FDCWD, conf_path("a"), AT_FDCWD, conf_path("b"), RENAME_NOREPLACE));
	SHOW("RENAME_EXCHANGE",
	     renameat2(AT_FDCWD, conf_path("a"), AT_FDCWD, conf_path("b"), RENAME_EXCHANGE));
	{
		char buf[4] = { 0 };
		int fd = open(conf_path("a"), O_RDONLY);
		read(fd, buf, 1);
		close(fd);
		printf("a now holds: %s\n", buf);
	}
	SHOW("RENAME_EXCHANGE with missing",
	     renameat2(AT_FDCWD, conf_path("a"), AT_FDCWD, conf_path("zz"), RENAME_EXCHANGE));
	SHOW("both NOREPLACE and EXCHANGE",
	     renameat2(AT_FDCWD, conf_path("a"), AT_FDCWD, conf_path("b"),
		       RENAME_NOREPLACE | RENAME_EXCHANGE));

	/* link. */
	SHOW("link", link(f, conf_path("f2")));
	SHOW("link onto existing", link(f, conf_path("a")));
	SHOW("link a directory", link(conf_path("e"), conf_path("e2")));
	SHOW("link missing", link(conf_path("missing"), conf_path("m2")));

	/* symlink and readlink. */
	SHOW("symlink", symlink("target/that/does/not/exist", conf_path("s")));
	SHOW("symlink onto existing", symlink("x", f));
	SHOW("symlink empty target", symlink("", conf_path("s2")));
	char buf[64];
	memset(buf, 0, sizeof(buf));
	SHOW("readlink", readlink(conf_path("s"), buf, sizeof(buf)));
	printf("target: %s\n", buf);
	memset(buf, 0, sizeof(buf));
	SHOW("readlink truncated to 6", readlink(conf_path("s"), buf, 6));
	printf("truncated: %s\n", buf);
	SHOW("readlink on a file", readlink(f, buf, sizeof(buf)));
	SHOW("readlink missing", readlink(conf_path("missing"), buf, sizeof(buf)));
	SHOW("readlink size 0", readlink(conf_path("s"), buf, 0));
	SHOW("unlink a symlink", unlink(conf_path("s")));

	/* *at variants. */
	int dfd = open(conf_tmpdir, O_RDONLY | O_DIRECTORY);
	SHOW("mkdirat", mkdirat(dfd, "m", 0700));
	SHOW("unlinkat dir without AT_REMOVEDIR", unlinkat(dfd, "m", 0));
	SHOW("unlinkat AT_REMOVEDIR", unlinkat(dfd, "m", AT_REMOVEDIR));
	SHOW("unlinkat AT_REMOVEDIR on file", unlinkat(dfd, "f2", AT_REMOVEDIR));
	SHOW("unlinkat bad flag", unlinkat(dfd, "f2", 0x1));
	SHOW("symlinkat", symlinkat("f", dfd, "sl"));
	SHOW("readlinkat", readlinkat(dfd, "sl", buf, sizeof(buf)));
	SHOW("linkat symlink (no follow)", linkat(dfd, "sl", dfd, "sl2", 0));
	struct stat st;
	lstat(conf_path("sl2"), &st);
	printf("linkat without AT_SYMLINK_FOLLOW links the symlink: %s\n",
	       S_ISLNK(st.st_mode) ? "yes" : "no");
	SHOW("linkat AT_SYMLINK_FOLLOW", linkat(dfd, "sl", dfd, "sl3", AT_SYMLINK_FOLLOW));
	lstat(conf_path("sl3"), &st);
	printf("with AT_SYMLINK_FOLLOW links the file: %s\n",
	       S_ISREG(st.st_mode) ? "yes" : "no");
	SHOW("mkdirat bad dirfd", mkdirat(9999, "x", 0700));
	remove_tmpdir();
	return 0;
}

/* flock and record locks between processes; extended attributes. */
#include "common.h"
#include <sys/file.h>
#include <sys/xattr.h>

static const char *path;

static void child_locks(void)
{
	int fd = open(path, O_RDWR);
	SHOW("child flock LOCK_EX|LOCK_NB", flock(fd, LOCK_EX | LOCK_NB));
	SHOW("child flock LOCK_SH|LOCK_NB", flock(fd, LOCK_SH | LOCK_NB));
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	SHOW("child F_SETLK over parent's", fcntl(fd, F_SETLK, &fl));
	fl.l_start = 10;
	SHOW("child F_SETLK next to it", fcntl(fd, F_SETLK, &fl));
	fl.l_start = 5;
	fl.l_type = F_RDLCK;
	SHOW("child F_GETLK", fcntl(fd, F_GETLK, &fl));
	printf("conflict type write: %s start %ld len %ld\n",
	       fl.l_type == F_WRLCK ? "yes" : "no", (long)fl.l_start, (long)fl.l_len);
}

int main(void)
{
	make_tmpdir("locks");
	path = conf_path("f");
	write_file(path, "0123456789abcdefghij");
	int fd = open(path, O_RDWR);
	MUST(fd);
	SHOW("flock LOCK_SH", flock(fd, LOCK_SH));
	int fd2 = open(path, O_RDWR);
	SHOW("second description LOCK_SH", flock(fd2, LOCK_SH | LOCK_NB));
	SHOW("second description LOCK_EX", flock(fd2, LOCK_EX | LOCK_NB));
	SHOW("upgrade own", flock(fd, LOCK_EX | LOCK_NB));
	SHOW("unlock second", flock(fd2, LOCK_UN));
	SHOW("upgrade own now", flock(fd, LOCK_EX | LOCK_NB));
	SHOW("bad op", flock(fd, 0));
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	SHOW("F_SETLK", fcntl(fd, F_SETLK, &fl));
	fl.l_type = F_RDLCK;
	SHOW("F_GETLK by owner", fcntl(fd, F_GETLK, &fl));
	printf("owner sees: %s\n", fl.l_type == F_UNLCK ? "unlocked" : "locked");
	int st = in_child(child_locks);
	printf("child: %s\n", wstatus_str(st));
	fl.l_type = 99;
	SHOW("F_SETLK bad type", fcntl(fd, F_SETLK, &fl));
	close(fd2);
	close(fd);

	/* Extended attributes (user namespace). */
	SHOW("getxattr absent", getxattr(path, "user.x", NULL, 0));
	SHOW("setxattr", setxattr(path, "user.x", "value", 5, 0));
	SHOW("setxattr CREATE existing", setxattr(path, "user.x", "v", 1, XATTR_CREATE));
	SHOW("setxattr REPLACE absent", setxattr(path, "user.y", "v", 1, XATTR_REPLACE));
	SHOW("getxattr size", getxattr(path, "user.x", NULL, 0));
	char v[16] = { 0 };
	SHOW("getxattr small buffer", getxattr(path, "user.x", v, 2));
	SHOW("getxattr", getxattr(path, "user.x", v, sizeof(v)));
	printf("value: %s\n", v);
	char names[64];
	ssize_t n = listxattr(path, names, sizeof(names));
	printf("listxattr: %ld first %s\n", (long)n, n > 0 ? names : "-");
	SHOW("unknown namespace", setxattr(path, "bogus.x", "v", 1, 0));
	SHOW("empty name", getxattr(path, "", v, sizeof(v)));
	SHOW("removexattr", removexattr(path, "user.x"));
	SHOW("removexattr again", removexattr(path, "user.x"));
	SHOW("listxattr empty", listxattr(path, names, sizeof(names)));
	MUST(symlink("f", conf_path("l")));
	SHOW("user xattr on symlink", lsetxattr(conf_path("l"), "user.x", "v", 1, 0));
	remove_tmpdir();
	return 0;
}

/* Finds out what the environment it runs in can do, so that the harness
 * shows a row as "n/a (reason)" when the environment lacks something the
 * row needs, instead of as a failure. Prints one line per capability:
 *
 *   NAME ok
 *   NAME missing REASON     (not there yet: ENOSYS, a read-only /tmp, ...)
 *   NAME broken REASON      (there, but gives wrong results)
 *
 * and exits 0 once every line is printed. */
#include "bench.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int missing_errno(int err)
{
	return err == ENOSYS || err == EROFS || err == EOPNOTSUPP || err == EPERM ||
	       err == EACCES;
}

static void say_errno(const char *cap, const char *what, int err)
{
	printf("%s %s %s: %s\n", cap, missing_errno(err) ? "missing" : "broken", what,
	       err == ENOSYS ? "ENOSYS" : strerror(err));
}

static void probe_tmp_write(void)
{
	const char *cap = "tmp-write";
	char dir[] = "/tmp/bench-probe-XXXXXX";
	if (!mkdtemp(dir))
		return say_errno(cap, "mkdtemp in /tmp", errno);
	char path[64];
	snprintf(path, sizeof path, "%s/file", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		say_errno(cap, "create a file in /tmp", errno);
		rmdir(dir);
		return;
	}
	char buf[16] = {0};
	int ok = write(fd, "hello", 5) == 5 && pread(fd, buf, sizeof buf, 0) == 5 &&
		 memcmp(buf, "hello", 5) == 0;
	int err = errno;
	close(fd);
	unlink(path);
	rmdir(dir);
	if (!ok)
		return say_errno(cap, "write and read back a file in /tmp", err);
	printf("%s ok\n", cap);
}

static void probe_pipe(void)
{
	const char *cap = "pipe";
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return say_errno(cap, "pipe2", errno);
	char buf[8] = {0};
	int ok = write(fds[1], "ping", 4) == 4 && read(fds[0], buf, sizeof buf) == 4 &&
		 memcmp(buf, "ping", 4) == 0;
	int err = errno;
	close(fds[0]);
	close(fds[1]);
	if (!ok)
		return say_errno(cap, "write and read a pipe", err);
	printf("%s ok\n", cap);
}

static void probe_getdents(void)
{
	const char *cap = "getdents";
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return say_errno(cap, "open /", errno);
	char buf[4096];
	long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
	int err = errno;
	close(fd);
	if (n < 0)
		return say_errno(cap, "getdents64 of /", err);
	if (n == 0) {
		printf("%s broken getdents64 of / returned nothing\n", cap);
		return;
	}
	printf("%s ok\n", cap);
}

static void probe_host_usr(void)
{
	const char *cap = "host-usr";
	struct stat st;
	if (stat("/usr/bin/true", &st) != 0) {
		int err = errno;
		printf("%s %s /usr/bin/true: %s\n", cap,
		       err == ENOENT || missing_errno(err) ? "missing" : "broken",
		       err == ENOSYS ? "ENOSYS" : strerror(err));
		return;
	}
	printf("%s ok\n", cap);
}

static void probe_fork(void)
{
	const char *cap = "fork";
	pid_t pid = fork();
	if (pid < 0)
		return say_errno(cap, "fork", errno);
	if (pid == 0)
		_exit(7);
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return say_errno(cap, "waitpid", errno);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 7) {
		printf("%s broken wrong exit status from a child\n", cap);
		return;
	}
	printf("%s ok\n", cap);
}

int main(void)
{
	probe_fork();
	probe_tmp_write();
	probe_pipe();
	probe_getdents();
	probe_host_usr();
	if (fflush(stdout) != 0)
		fail("writing the result");
	return 0;
}

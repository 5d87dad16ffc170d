/* open + read + close of a small file written by the harness: SIZE bytes,
 * byte i being 'a' + i % 26. Prints ns per open+read+close. */
#include "bench.h"
#include <fcntl.h>

static const char *path;
static long size;
static char expected[65536];

static void op(void *arg)
{
	(void)arg;
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open");
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0)
		fail("read");
	if (n != size || memcmp(buf, expected, (size_t)size) != 0)
		wrong("the file's bytes");
	if (close(fd) != 0)
		fail("close");
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	path = arg_str(argc, argv, 2, "small.txt");
	size = arg_long(argc, argv, 3, 1000);
	if (size > (long)sizeof expected)
		wrong("the file is too big for this workload");
	for (long i = 0; i < size; i++)
		expected[i] = (char)('a' + i % 26);
	report(time_per_op(target_ms, op, NULL));
	return 0;
}

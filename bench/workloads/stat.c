/* stat of a path (the small file the harness writes). Prints ns per call. */
#include "bench.h"
#include <sys/stat.h>

static const char *path;
static long size;

static void op(void *arg)
{
	(void)arg;
	struct stat st;
	if (stat(path, &st) != 0)
		fail("stat");
	if (st.st_size != size || !S_ISREG(st.st_mode))
		wrong("the file's size or type");
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	path = arg_str(argc, argv, 2, "small.txt");
	size = arg_long(argc, argv, 3, 1000);
	report(time_per_op(target_ms, op, NULL));
	return 0;
}

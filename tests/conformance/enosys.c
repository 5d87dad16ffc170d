/* System call numbers the kernel does not have return ENOSYS (and the
 * process carries on), including the legacy calls that were never
 * implemented. Numbers in the gap below 424 are avoided: recent kernels
 * give 335 and 336 to uretprobe/uprobe, which raise SIGILL when called
 * directly. */
#include "common.h"

int main(void)
{
	long nums[] = { 1000, 5000, 0x40000000 - 1, 0x7fffffff, -1, -2 };
	for (unsigned i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		char label[64];
		snprintf(label, sizeof(label), "syscall(%ld)", nums[i]);
		SHOW(label, syscall(nums[i], 1, 2, 3, 4, 5, 6));
	}
	/* Removed or never-implemented legacy calls. */
	SHOW("syscall 174 (create_module)", syscall(174));
	SHOW("syscall 177 (get_kernel_syms)", syscall(177));
	SHOW("syscall 180 (nfsservctl)", syscall(180));
	SHOW("syscall 181 (getpmsg)", syscall(181));
	SHOW("syscall 182 (putpmsg)", syscall(182));
	SHOW("syscall 184 (tuxcall)", syscall(184));
	SHOW("syscall 185 (security)", syscall(185));
	SHOW("syscall 214 (epoll_ctl_old)", syscall(214));
	SHOW("syscall 215 (epoll_wait_old)", syscall(215));
	SHOW("syscall 236 (vserver)", syscall(236));
	printf("still running: yes\n");
	return 0;
}

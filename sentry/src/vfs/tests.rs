//! Tests of the VFS on a kernel without application threads.

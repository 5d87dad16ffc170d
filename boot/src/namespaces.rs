//! Host namespaces of the sandbox process.

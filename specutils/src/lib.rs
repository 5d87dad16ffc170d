//! specutils

#ifndef STORACHA_BUILD_INFO_H
#define STORACHA_BUILD_INFO_H

/// The git commit the binary was built from ("" when not built by scripts/release).
const char *storacha_build_commit(void);

#endif

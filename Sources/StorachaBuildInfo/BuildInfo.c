// What scripts/release knows at build time: it writes generated/build.h (not in git) before building, and touches
// this file so that the build system compiles it again.
#include "StorachaBuildInfo.h"

#if __has_include("generated/build.h")
#include "generated/build.h"
#endif

#ifndef STORACHA_BUILD_COMMIT
#define STORACHA_BUILD_COMMIT ""
#endif

const char *storacha_build_commit(void) { return STORACHA_BUILD_COMMIT; }

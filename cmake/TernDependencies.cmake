# Third-party libraries from Debian packages, found through pkg-config. Included both by the build
# and by the installed ternConfig.cmake, so that consumers of the static libraries link the same.
find_package(PkgConfig REQUIRED)
pkg_check_modules(TERN_OPUS REQUIRED IMPORTED_TARGET opus)
pkg_check_modules(TERN_VPX REQUIRED IMPORTED_TARGET vpx)

# Third-party libraries from Debian packages, found through pkg-config. Included both by the build
# and by the installed ternConfig.cmake, so that consumers of the static libraries link the same.
find_package(PkgConfig REQUIRED)
# tools/: the scorecard (tern-loopback --matrix) runs calls on worker threads.
find_package(Threads REQUIRED)
pkg_check_modules(TERN_OPUS REQUIRED IMPORTED_TARGET opus)
pkg_check_modules(TERN_VPX REQUIRED IMPORTED_TARGET vpx)
# media/: WebM recording through libavformat, Ogg Opus through libogg, quality meters through libyuv
# (Debian ships it static, without pkg-config) and WebM read-back through libwebm's parser (no
# pkg-config either).
pkg_check_modules(TERN_AVFORMAT REQUIRED IMPORTED_TARGET libavformat libavcodec libavutil)
pkg_check_modules(TERN_OGG REQUIRED IMPORTED_TARGET ogg)
find_path(TERN_LIBYUV_INCLUDE_DIR libyuv.h REQUIRED)
find_library(TERN_LIBYUV_LIBRARY NAMES libyuv.a yuv REQUIRED)
find_path(TERN_WEBM_INCLUDE_DIR webm/webm_parser.h REQUIRED)
find_library(TERN_WEBM_LIBRARY NAMES webm REQUIRED)
if(NOT TARGET tern_dep_libyuv)
  add_library(tern_dep_libyuv UNKNOWN IMPORTED)
  set_target_properties(tern_dep_libyuv PROPERTIES IMPORTED_LOCATION ${TERN_LIBYUV_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${TERN_LIBYUV_INCLUDE_DIR})
endif()
if(NOT TARGET tern_dep_webm)
  add_library(tern_dep_webm UNKNOWN IMPORTED)
  set_target_properties(tern_dep_webm PROPERTIES IMPORTED_LOCATION ${TERN_WEBM_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${TERN_WEBM_INCLUDE_DIR})
endif()
pkg_check_modules(TERN_SRTP REQUIRED IMPORTED_TARGET libsrtp2)
# sctp/: data channels over usrsctp (Debian libusrsctp-dev).
pkg_check_modules(TERN_USRSCTP REQUIRED IMPORTED_TARGET usrsctp)
# ice/: STUN MESSAGE-INTEGRITY (HMAC-SHA1/SHA256) and long-term keys (MD5) through libcrypto, TURN
# over TLS through libssl (memory BIOs).
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto SSL)
find_package(nlohmann_json REQUIRED)  # pipeline/: stats snapshots as JSON
# tools/: tern_tools links CLI11 (header-only) privately; a static library's link interface still
# names it, so the installed package must find it too.
find_package(CLI11 CONFIG REQUIRED)

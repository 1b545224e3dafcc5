# Cross build of the addon for linux-arm64 on a Debian x64 host (scripts/prepack.sh), with
# Debian's g++-aarch64-linux-gnu and the arm64 dev packages (dpkg --add-architecture arm64).
# Node-API needs only headers, which are the same for every architecture.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Multiarch: the arm64 libraries live beside the host's, in /usr/lib/aarch64-linux-gnu.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

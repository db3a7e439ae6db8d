# CMake package of ferrolock's C library, installed by scripts/install-c:
#
#   find_package(ferrolock REQUIRED)
#   target_link_libraries(app PRIVATE ferrolock::ferrolock)         # libferrolock.so
#   target_link_libraries(app PRIVATE ferrolock::ferrolock_static)  # libferrolock.a
include(CMakeFindDependencyMacro)
find_dependency(Threads)

get_filename_component(_ferrolock_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET ferrolock::ferrolock)
  add_library(ferrolock::ferrolock SHARED IMPORTED)
  set_target_properties(ferrolock::ferrolock PROPERTIES
    IMPORTED_LOCATION "${_ferrolock_prefix}/lib/libferrolock.so"
    IMPORTED_SONAME "libferrolock.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_ferrolock_prefix}/include")
endif()

if(NOT TARGET ferrolock::ferrolock_static AND EXISTS "${_ferrolock_prefix}/lib/libferrolock.a")
  add_library(ferrolock::ferrolock_static STATIC IMPORTED)
  set_target_properties(ferrolock::ferrolock_static PROPERTIES
    IMPORTED_LOCATION "${_ferrolock_prefix}/lib/libferrolock.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_ferrolock_prefix}/include"
    # ssl, crypto: the Couchbase backend's TLS (native-tls, the system's OpenSSL).
    INTERFACE_LINK_LIBRARIES "ssl;crypto;Threads::Threads;${CMAKE_DL_LIBS};m;rt;util;gcc_s")
endif()

set(ferrolock_INCLUDE_DIRS "${_ferrolock_prefix}/include")
set(ferrolock_LIBRARIES ferrolock::ferrolock)
unset(_ferrolock_prefix)

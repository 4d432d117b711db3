# Dependencies through pkg-config. A missing one stops configure and names the
# Debian package that provides it, so the error is also the fix.
find_package(PkgConfig REQUIRED)

function(kt_require_pkg target module debpkg)
  pkg_check_modules(${target} IMPORTED_TARGET ${module})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR
      "missing dependency '${module}': install it with 'apt-get install ${debpkg}' "
      "(or run .ci/deps, which installs everything the build needs)")
  endif()
endfunction()

kt_require_pkg(LIBARCHIVE libarchive libarchive-dev)
kt_require_pkg(JANSSON    jansson    libjansson-dev)
kt_require_pkg(ZSTD       libzstd    libzstd-dev)
kt_require_pkg(ZLIB       zlib       zlib1g-dev)
kt_require_pkg(NETTLE     nettle     nettle-dev)
kt_require_pkg(PCAP       libpcap    libpcap-dev)
kt_require_pkg(CGRAPH     libcgraph  libgraphviz-dev)
kt_require_pkg(GVC        libgvc     libgraphviz-dev)
kt_require_pkg(LIBBPF     libbpf     libbpf-dev)
kt_require_pkg(MNL        libmnl     libmnl-dev)
kt_require_pkg(NFCT       libnetfilter_conntrack libnetfilter-conntrack-dev)
if(KT_BUILD_TESTS)
  kt_require_pkg(CHECK    check      check)
endif()

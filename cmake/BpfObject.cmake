# BpfObject.cmake - build CO-RE eBPF programs and their libbpf skeletons.
#
#   /sys/kernel/btf/vmlinux --bpftool btf dump--> <build>/bpf/vmlinux.h
#   bpf/<name>.bpf.c --clang -target bpf--> <build>/bpf/<name>.bpf.o
#                    --bpftool gen skeleton--> <build>/bpf/<name>.skel.h
#
# vmlinux.h is generated at build time from the running kernel's BTF and never
# committed: CO-RE relocations make the object run on other kernels, so the
# header only has to describe *a* kernel with the types we read.
#
# kt_bpf_object(<name>) adds the three steps for bpf/<name>.bpf.c and an
# INTERFACE target <name>_skel whose include directory holds <name>.skel.h and
# which pulls in libbpf: user-space code links it and includes the skeleton.
#
# A missing tool stops configure and names the Debian package that has it.

set(KT_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH
    "kernel BTF that vmlinux.h is generated from")

find_program(KT_BPF_CLANG NAMES clang clang-16 clang-15 clang-14)
if(NOT KT_BPF_CLANG)
  message(FATAL_ERROR "missing 'clang' to compile the eBPF programs: "
    "install it with 'apt-get install clang'")
endif()
find_program(KT_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin)
if(NOT KT_BPFTOOL)
  message(FATAL_ERROR "missing 'bpftool' to generate vmlinux.h and the skeletons: "
    "install it with 'apt-get install bpftool'")
endif()
if(NOT EXISTS "${KT_VMLINUX_BTF}")
  message(FATAL_ERROR "missing kernel BTF '${KT_VMLINUX_BTF}': the kernel needs "
    "CONFIG_DEBUG_INFO_BTF=y, or point -DKT_VMLINUX_BTF at a BTF file "
    "for this kernel")
endif()
find_path(KT_LIBBPF_INCLUDE bpf/bpf_helpers.h HINTS ${LIBBPF_INCLUDE_DIRS})
if(NOT KT_LIBBPF_INCLUDE)
  message(FATAL_ERROR "missing 'bpf/bpf_helpers.h': "
    "install it with 'apt-get install libbpf-dev'")
endif()

# bpf/ and the build tree's bpf/ are the only include directories of the
# kernel side: it sees vmlinux.h, never the host's libc headers.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(KT_BPF_ARCH arm64)
else()
  set(KT_BPF_ARCH x86)
endif()

set(KT_BPF_OUT ${CMAKE_BINARY_DIR}/bpf)
set(KT_VMLINUX_H ${KT_BPF_OUT}/vmlinux.h)
add_custom_command(
  OUTPUT ${KT_VMLINUX_H}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${KT_BPF_OUT}
  COMMAND ${KT_BPFTOOL} btf dump file ${KT_VMLINUX_BTF} format c > ${KT_VMLINUX_H}.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${KT_VMLINUX_H}.tmp ${KT_VMLINUX_H}
  DEPENDS ${KT_VMLINUX_BTF}
  COMMENT "generating vmlinux.h from ${KT_VMLINUX_BTF}"
  VERBATIM)

function(kt_bpf_object name)
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/${name}.bpf.c)
  set(obj ${KT_BPF_OUT}/${name}.bpf.o)
  set(skel ${KT_BPF_OUT}/${name}.skel.h)
  file(GLOB hdrs ${CMAKE_CURRENT_SOURCE_DIR}/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${KT_BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${KT_BPF_ARCH}
            -Wall -Werror -Wno-unused-function -Wno-compare-distinct-pointer-types
            -I${KT_BPF_OUT} -I${CMAKE_CURRENT_SOURCE_DIR} -I${KT_LIBBPF_INCLUDE}
            -c ${src} -o ${obj}
    DEPENDS ${src} ${hdrs} ${KT_VMLINUX_H}
    COMMENT "compiling eBPF program ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${KT_BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "generating skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen ALL DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  # The shared event layout (bpf/<name>.h) and the generated skeleton.
  target_include_directories(${name}_skel INTERFACE
    ${CMAKE_CURRENT_SOURCE_DIR} ${KT_BPF_OUT})
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()

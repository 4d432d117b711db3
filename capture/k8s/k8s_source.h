/* k8s_source.h - the "k8s" recording source (source.h) over k8scap.h. */
#ifndef KT_K8S_SOURCE_H
#define KT_K8S_SOURCE_H

#include "source.h"

extern const struct kt_source_ops kt_source_k8s;

#endif

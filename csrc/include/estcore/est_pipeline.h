/* est_pipeline.h -- the input pipeline's two halves in one include:
 * est_sampler.h (stateless (seed, epoch, i) -> row) and est_stream.h (worker
 * threads, batch pool, in-order hand-off). Each header states its own contract. */
#ifndef ESTCORE_EST_PIPELINE_H
#define ESTCORE_EST_PIPELINE_H
#include "estcore/est_sampler.h"
#include "estcore/est_stream.h"
#endif /* ESTCORE_EST_PIPELINE_H */

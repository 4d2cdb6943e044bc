#pragma once
// sinklab::io — files, checkpoints, configs, metrics, plots, progress. No dependency on the tensor types.
#include "sinklab/io/atomic_file.hpp"
#include "sinklab/io/config.hpp"
#include "sinklab/io/metrics.hpp"
#include "sinklab/io/nearest.hpp"
#include "sinklab/io/plot.hpp"
#include "sinklab/io/progress.hpp"
#include "sinklab/io/safetensors.hpp"

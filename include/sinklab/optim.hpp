#pragma once
// Umbrella: optimisers, schedules and gradient clipping.
#include "sinklab/optim/adamw.hpp"
#include "sinklab/optim/clip.hpp"
#include "sinklab/optim/schedule.hpp"

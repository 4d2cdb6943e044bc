#pragma once
// sinklab::data — tokenizers, token files, corpus preparation, datasets/samplers, sink-paper transforms.
// SentencePiece is included only when the build links sinklab::sentencepiece (SINKLAB_HAVE_SENTENCEPIECE).
#include "sinklab/data/byte_tokenizer.hpp"
#include "sinklab/data/dataset.hpp"
#include "sinklab/data/prepare.hpp"
#include "sinklab/data/token_file.hpp"
#include "sinklab/data/tokenizer.hpp"
#include "sinklab/data/transforms.hpp"

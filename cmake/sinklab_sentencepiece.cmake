# sinklab::sentencepiece — SentencePiece as an imported target. Debian's libsentencepiece-dev ships no CMake
# config, so look it up via pkg-config, falling back to find_path/find_library. Sets SINKLAB_HAVE_SENTENCEPIECE
# (ON/OFF); the target also carries the SINKLAB_HAVE_SENTENCEPIECE=1 compile definition that
# sinklab/data/tokenizer.hpp keys on.
include_guard(GLOBAL)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(SINKLAB_SPM_PC QUIET sentencepiece)
endif()
find_path(SINKLAB_SPM_INCLUDE_DIR sentencepiece_processor.h HINTS ${SINKLAB_SPM_PC_INCLUDE_DIRS})
find_library(SINKLAB_SPM_LIBRARY sentencepiece HINTS ${SINKLAB_SPM_PC_LIBRARY_DIRS})
find_library(SINKLAB_SPM_TRAIN_LIBRARY sentencepiece_train HINTS ${SINKLAB_SPM_PC_LIBRARY_DIRS})

if(SINKLAB_SPM_INCLUDE_DIR AND SINKLAB_SPM_LIBRARY AND SINKLAB_SPM_TRAIN_LIBRARY)
  set(SINKLAB_HAVE_SENTENCEPIECE ON)
  add_library(sinklab::sentencepiece INTERFACE IMPORTED GLOBAL)
  set_target_properties(sinklab::sentencepiece PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${SINKLAB_SPM_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${SINKLAB_SPM_TRAIN_LIBRARY};${SINKLAB_SPM_LIBRARY}"
    INTERFACE_COMPILE_DEFINITIONS "SINKLAB_HAVE_SENTENCEPIECE=1")
  message(STATUS "sinklab: SentencePiece found (${SINKLAB_SPM_LIBRARY})")
else()
  set(SINKLAB_HAVE_SENTENCEPIECE OFF)
  message(STATUS "sinklab: SentencePiece not found; SentencePieceTokenizer disabled")
endif()

/* loader.h — the streaming weights loader behind xlmr_loader_* (declared in xlmr.h).
 *
 * The host asks xlmr_loader_room for how many bytes may go next and xlmr_loader_dest for where, copies
 * that many (or fewer) bytes of the file there, and calls xlmr_loader_commit. Call room before dest
 * after every commit: both move as the file is read. The first 8 bytes tell the format.
 *
 * GGUF: the metadata and tensor infos go to a header buffer that grows as they arrive (about 8 MB for a
 * 250k vocabulary, freed once read); then the weights block is allocated once, sized from the tensor
 * table, and dest points straight at each tensor's place in it, so every weight byte is copied once.
 * Padding and tensors we do not use go to a small sink. Tensors may come in any order.
 *
 * safetensors: the JSON header goes to the header buffer; then each tensor's bytes go through a 64 KiB
 * staging buffer and are converted (to Q8_0 by default, or F16/F32 as the loader's dtype says; vectors and
 * the position / token-type tables stay F32) as it fills, so no float tensor is ever held whole. The
 * position table is stored without its first pad_id + 1 rows (llama.cpp's convention, see model.h).
 *
 * PyTorch (pytorch_model.bin, .pt: torch.save's zip): data.pkl is read as a restricted pickle (torch_pickle.h: no
 * code runs), then each storage entry streams through the stage as safetensors tensors do, in the archive's order;
 * the zip records between them go to the header buffer (torch_zip.h). The total is known once the end record is read.
 *
 * When room is 0 the file is complete (or an error stopped it: xlmr_loader_status). Bytes left over after
 * that mean the file is longer than its tables say: xlmr_loader_feed reports it; a host using dest/room
 * directly must check too. xlmr_loader_finish checks nothing is missing and hands over the model. */
#ifndef XLMR_LOADER_H
#define XLMR_LOADER_H

#include "xlmr.h"

#define LOADER_STAGE_BYTES (64 * 1024) /* a multiple of 32 floats */

enum { LOADER_FORMAT_UNKNOWN = 0, LOADER_FORMAT_GGUF = 1, LOADER_FORMAT_SAFETENSORS = 2, LOADER_FORMAT_TORCH = 3 };

int loader_format(const xlmr_loader *ld);

#endif

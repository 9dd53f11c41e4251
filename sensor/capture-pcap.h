/* SPDX-License-Identifier: MIT */
/*
 * capture-pcap.h -- capture front-ends hand frames to one callback; nothing
 * after this interface knows where a frame came from.
 */
#ifndef MAILTAP_CAPTURE_PCAP_H
#define MAILTAP_CAPTURE_PCAP_H

#include <stddef.h>
#include <stdint.h>

/* @frame is borrowed for the call only. */
typedef void capture_frame_fn(void *arg, int linktype, const uint8_t *frame,
			      size_t caplen, size_t wirelen, uint64_t ts_ns);

/* Polled between frames; non-zero stops the replay early. */
typedef int capture_stop_fn(void *arg);

struct capture_file_stats {
	uint64_t files, frames, bytes;
	uint64_t unsupported_linktype_files;
	/* progress of the file being read (for a progress line) */
	const char *cur_path;       /* borrowed from the caller's list */
	int cur_index, nfiles;
	uint64_t cur_size, cur_pos; /* bytes; size 0 for pipes */
};

/*
 * Replay pcap/pcapng files in order as one timeline.  Every file is opened
 * first, so a missing, empty or non-pcap file fails before any output.  A
 * file that breaks off midway keeps what was read and the replay goes on
 * with the next file.  Errors are printed to stderr, one line each, naming
 * the file.  Returns 0, or -EIO when any file could not be read in full,
 * or -ENOENT/-EINVAL when a file could not be opened (nothing replayed).
 */
int capture_replay_files(char *const *paths, int npaths, capture_frame_fn *fn,
			 capture_stop_fn *stop, void *arg,
			 struct capture_file_stats *st);

/*
 * The same in two steps, so that the inputs are checked before any output
 * is opened: capture_files_open() opens every file (printing one line per
 * file that cannot be read) and returns NULL with *err = -EINVAL or
 * -ENOMEM, or a new handle the caller frees with capture_files_close().
 * @paths is borrowed and must outlive the handle.  capture_files_replay()
 * returns 0 or -EIO like capture_replay_files().
 */
struct capture_files;
struct capture_files *capture_files_open(char *const *paths, int npaths, int *err);
int capture_files_replay(struct capture_files *cf, capture_frame_fn *fn, capture_stop_fn *stop,
			 void *arg, struct capture_file_stats *st);
void capture_files_close(struct capture_files *cf);

#endif

/*
 * cmd.h — the subcommands of the zeropt binary (one file each, cmd_*.c).
 */
#ifndef ZEROPT_CMD_H
#define ZEROPT_CMD_H

/* Unit buffers are padded to ranks × ALIGN_FLOATS floats (64 bytes). */
#define ALIGN_FLOATS 16

int cmd_model(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_prep(int argc, char **argv);
int cmd_ckpt(int argc, char **argv);
int cmd_plan(int argc, char **argv);

#endif

/*
 * cmd.h — the subcommands of the zeropt binary, one file each (cmd_*.c):
 * argument parsing and printing; the work happens in the rooms below. Each
 * file defines its usage text, which `zeropt --help` and `zeropt <command>
 * --help` print.
 */
#ifndef ZEROPT_CMD_H
#define ZEROPT_CMD_H

int cmd_model(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_prep(int argc, char **argv);
int cmd_ckpt(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_blas(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_fill_mask(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_quality(int argc, char **argv);
/* sweep plan | submit | collect (cmd_campaign.c); −1: not one of them */
int cmd_sweep_campaign(const char *sub, int argc, char **argv);

extern const char USAGE_MODEL[], USAGE_TOKENIZER[], USAGE_PREP[], USAGE_CKPT[], USAGE_PLAN[],
    USAGE_TRAIN[], USAGE_EVAL[], USAGE_BLAS[], USAGE_GENERATE[], USAGE_FILL_MASK[], USAGE_EMBED[],
    USAGE_PLOT[], USAGE_SWEEP[], USAGE_QUALITY[];

/* Before anything else in main: when the user has not chosen an OpenMP wait
 * policy, set the one that suits this build and node and re-execute, since
 * the runtime reads it when it loads (wait.c). */
void cli_wait_policy(char **argv);

/* Process start-up shared by every command: the BLAS library's threads
 * (kernels: k_init_threads). */
void cli_init(void);

/* 1 (after printing usage to stdout) when argv holds -h or --help. */
int cli_help(int argc, char **argv, const char *usage);

#endif

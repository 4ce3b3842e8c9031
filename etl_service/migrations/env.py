from common.migrations import run_env_online

run_env_online()

listen "127.0.0.1:0"
worker_processes 2
preload_app true

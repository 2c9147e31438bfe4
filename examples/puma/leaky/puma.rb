bind "tcp://127.0.0.1:0"
workers 2
preload_app!

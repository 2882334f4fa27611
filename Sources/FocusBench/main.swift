print("focus-bench")

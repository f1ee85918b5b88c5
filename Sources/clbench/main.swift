print("clbench")

print("storacha")

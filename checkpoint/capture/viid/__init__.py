"""The GA/T 1400.4 视图库 interface: cameras and lower platforms register, keep alive and push motor vehicles."""

# Netscape HTTP Cookie File
# Written by fetchpar (--save-cookies). Edit at your own risk.


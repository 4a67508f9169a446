// funky-music progressive enhancement

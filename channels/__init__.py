"""Channel adapters: one per messaging channel, behind the small contract in `channels.base`.

Adapters are listed explicitly in `channels.registry` and enabled by config;
nothing is discovered from the file system.
"""

# This file is maintained automatically by "terraform init".
# Manual edits may be lost in future updates.

provider "registry.terraform.io/bpg/proxmox" {
  version     = "0.77.1"
  constraints = "~> 0.77.0"
  hashes = [
    "h1:0oJP5nKWB3eljMNQ6xSWp0mOHLHUfF07Rwqn8phzFBc=",
    "h1:9Y1hE1NOBcavp+i78YVbV5yOrSGA3L/XawIZE6/93oI=",
    "h1:Li0YtnP1+QSkVvoZU/rEEQ4X2FPVwlAFnYZARcAwEPI=",
    "h1:Ms67cLdFsFua+8ZXnFekapIdciyVZ9sXw0xgbiQODu8=",
    "h1:RPvjDWqNYLbaRS/KWX9QpWa1KbsMCJV076Jtn3wQXho=",
    "h1:W+xEKQcAVlxPJceqYOUgGEA4viCytGRH2GipRd4hYg0=",
    "h1:Z2vJsOXg+mVs6SxxHpEr06Ei4BagS0EZszCzwpipEgM=",
    "h1:dJUUpKdhGbahR95aNisaMPB38+j7DW5H7Sq3ca3N7mA=",
    "h1:dXreZKuaVPM1kN4jtpkRCwgd4hBTQ/FOtkb1I7LGpxA=",
    "h1:dqVp8dT5/p8zYgLv9LOLiZKcKRlEq6slt9LAaO2ZmNE=",
    "h1:j8704DayCrRAUSSde1M4FdMgJRQN52O1l/SnBQ0UUlo=",
    "h1:kncQS2iViH3JCNC/0VtcsXFTozQGmvuCiNXmjYuB0EI=",
    "h1:n4m7BsNGpmGCw36I4XVNA2449sF+G2gY4ByltebTcoo=",
    "h1:og37ddvvUS2cOw0DSAB6oRHUCfT6GN4/Oy+nAraaY1w=",
    "zh:2bac9a6f8504da93d2e6381f6f4ff6e4456a8363a7bab49c4b8cd4462e91108b",
    "zh:33072b323162142cbede425e6cea9fd04a859c301478b243748c25bc31a099d6",
    "zh:39abe6c781b7c03851e8546c5fe72cc35d2b7723fe958df1176cb2466904169f",
    "zh:5e2ccef33d4301b04b20a61b3c327737e23dd7281cd36d0230522d3cebb989b4",
    "zh:63b795eb320e62a1bfcf17a2c19544bf04ef57f9642c4fbebb3b6dca8abad676",
    "zh:6c1853696181fd8148574657d8512e58e2b13d34eb1df1320ca1d87bc788201d",
    "zh:893c7826201a2107c120e4a0de1ad388c5b359c883d201a3567c868dd6c4e205",
    "zh:8bb6848625efc65b02db35f873d26516e7828fe93c047cb3d33fa07f07968b13",
    "zh:93a835f9fa85cbe2e92bb2c91c94e03754bd0838e0ce39fc7915495601f0bcd7",
    "zh:b72233eedc25e90d45c631953318582778686452d61551026b93adf22954eb22",
    "zh:b966e18990c43537505b3cfcd2f92dd5d4b43f7ae26d73d3447b6ee280bde418",
    "zh:bc6c055071071d42da77061741994887dbb82d2efe0461ba32c4bf7736ab599e",
    "zh:d8a65cf4117ea5e7d4843c7e7831ee97a235b550f0f900d2b90ac48517c5f298",
    "zh:e3d6b7313c9ec2bdd63e22026468bbb680bd30deaae052e8c6caab2d20f8ce30",
    "zh:f26e0763dbe6a6b2195c94b44696f2110f7f55433dc142839be16b9697fa5597",
  ]
}

provider "registry.terraform.io/siderolabs/talos" {
  version     = "0.7.1"
  constraints = "0.7.1"
  hashes = [
    "h1:0PjPXFUKvV3uFSo/eccWkDSGAuiLEc+vHGBK6OT4eOM=",
    "h1:3B/RLVJb2tvd+K6AUTkGWaMthUJeEDbN8go9pEj0zS8=",
    "h1:4aJtYPbVlor6ibngXR+JEppFzE9DghnK2wRS6DpkC4w=",
    "h1:8b7tqI+dflmERsVF+jX7u3ji84gxxlSHX3c0hxNkALw=",
    "h1:EtdNRWVVAXX3HnTDoTPnZDha10PuFTPRiIQxlhiyiiI=",
    "h1:GDUT5fKneNBrZU9buqnx6dI1mdH2AXGeiKL3JEZlxyc=",
    "h1:cKwqTmdhC8zwt+xAdKTTvU8pJDUi7LbkSZMcVpou8vc=",
    "h1:chTpbiG/7II0zppH5N4W3mR5ZK/uKNLEXSpEd+90Zx4=",
    "h1:oREveYITYveNaxdVE6qnPgXt6hveHZLODKpGdHartWE=",
    "h1:oacuXtHC2N3/Z9hiFMW6znt4P6DfLC2yWfOKeEsEUbs=",
    "h1:pcWUCD0ZmbIwkyMStX6vBi/IO02ueGB7ytVWRHqtobM=",
    "h1:syBSwpvRaNkAymNq0wkQZV/En57m4sxSFOaPngoC4Qw=",
    "h1:tzxgHnsmjdkgn82pO+LZAmIOyw6AnbyDyqIB+nl22hY=",
    "h1:vdgcPiT2VRru+Cr9JoXg9pGdZ9htrlLA0ZxsfqO6zJ4=",
    "zh:0fa82a384b25a58b65523e0ea4768fa1212b1f5cfc0c9379d31162454fedcc9d",
    "zh:162436bf80a53c4bb0e3cd592699129264092c47e2abf01e05cbccfb66ac86de",
    "zh:435b0b7e1dddb51fa40acce72f52ca7d4602ad1995912c51028542a5609bb511",
    "zh:4566884b49adbb94e7b234b572215266eb6807ec668cd49fbe0840b138046bd2",
    "zh:4abf5e1ab2a25740f4ff4e3ecfa57d3fe5c31ed15b4b1d0365227d1f1d32aa40",
    "zh:59884c612645ecd74c25abc83ea87d34a32f737fd261ae291f6ef83c22254bd1",
    "zh:6d3d44db2e87f5b55c321f4b2434d1280df98ce80127ef534a14b28c5e20c54a",
    "zh:73aea54a4283828016463fd8324f8f8fcb0b65e637a80839c719cb3805801062",
    "zh:7f6bcdf202e573a7fd3ff28bce0d02c0d1286db9e23985c3ef476b2580bf5339",
    "zh:8a5fcfe56265be6d996b112dee7d909ae54cf39e8f50b701bc649a37fe546f6b",
    "zh:985113de5713922aab4a1a85edf563669b41c916fdd4c90a7c52f6b3abedb761",
    "zh:9c101adc33fc05042029cb113feb7be811938deefe9dd3db58709f8715084a5e",
    "zh:bdeb34b2d6b6704a2dd8d04321887502f71aeb6c5673ff30f6e8c039b5797630",
    "zh:ce674170f89481e44e20e3f442595104f809cecca666a9703515b28dbcbfc099",
    "zh:f8efb1b8abd656c4a4043bed64c09b8b31698319ce49a187a79bdbb7aef051f3",
  ]
}

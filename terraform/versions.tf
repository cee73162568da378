# The hypervisor side of the design: one Talos control-plane VM on Proxmox, configured and bootstrapped
# by the Talos provider. State stays local (ignored by .gitignore) until the roadmap's remote backend.
terraform {
  required_version = ">= 1.6, < 2.0"

  required_providers {
    proxmox = {
      source  = "bpg/proxmox"
      version = "~> 0.77.0"
    }
    talos = {
      source  = "siderolabs/talos"
      version = "0.7.1"
    }
  }
}

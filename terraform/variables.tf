variable "proxmox_endpoint" {
  description = "The Proxmox VE API, e.g. https://pve.lan:8006/"
  type        = string
}

variable "proxmox_api_token" {
  description = "user@realm!tokenid=secret; set TF_VAR_proxmox_api_token (or PROXMOX_VE_API_TOKEN), never a file"
  type        = string
  sensitive   = true
}

variable "proxmox_node" {
  description = "The Proxmox node that hosts the VM"
  type        = string
  default     = "pve"
}

variable "cluster_name" {
  type    = string
  default = "cloudlab"
}

variable "talos_version" {
  type    = string
  default = "v1.9.5"
}

variable "controlplane_ip" {
  description = "The control-plane VM's address (a DHCP reservation on the LAN)"
  type        = string
  default     = "192.168.1.50"
}
